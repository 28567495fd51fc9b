from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / "naslib_snn" / "_version.py").read_text(), version)

setup(
    name="naslib-snn",
    version=version["__version__"],
    description="Spiking neural networks for NASLib: the SNASNet search space, SAHD/HD scores, search and training",
    long_description=(Path(__file__).parent / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["naslib_snn", "naslib_snn.*"]),
    package_data={"naslib_snn": ["benchmarks/data/*.json", "benchmarks/data/*.md"]},
    install_requires=[
        "torch>=2.0",
        "spikingjelly==2.0.0",
        "numba>=0.59",  # the LIF kernels (naslib_snn/search_spaces/spiking_nb201/lif_kernels.py)
        "networkx>=2.6",
        "numpy>=1.22",
        "scipy>=1.8",
        "scikit-learn>=1.0",
        "tqdm>=4.60",
        "matplotlib>=3.5",
        "PyYAML>=5.4",
    ],
    extras_require={
        "test": ["pytest>=7"],
        "ray": ["ray>=2.0"],
    },
    entry_points={"console_scripts": ["naslib-snn=naslib_snn.cli:main"]},
)
