"""Build hook for the optional compiled extensions; everything else is in pyproject.toml.

The extensions are optional: without a C compiler ciyu installs anyway and uses the
pure-Python references (``ciyu.decoder``, ``ciyu.template.parser``), which give the same
results, slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ciyu._lattice",
            sources=["src/ciyu/_lattice.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "ciyu._tparse",
            sources=["src/ciyu/_tparse.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
