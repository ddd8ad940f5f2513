"""Type aliases of the public API (for annotations and the stubs)."""
from typing import Any, Union

import numpy as np

#: What an elementwise function returns: an ndarray (a NumPy scalar for
#: scalar input) or an array of the inputs' family (torch, CuPy, Dask,
#: masked), so typed loosely.
Result = Any
#: Several such results, one per output (the derivatives).
Results = tuple[Any, ...]
#: ``size=`` of the samplers: None, an int or a shape.
Size = Union[None, int, tuple[int, ...]]
#: ``random_state=``: what ``numpy.random.default_rng`` takes, or a Generator.
Seed = Union[None, int, np.random.SeedSequence, np.random.Generator]
