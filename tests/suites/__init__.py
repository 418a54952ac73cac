# SPDX-License-Identifier: GPL-2.0
"""Every test suite; importing this package registers their tests, in the
order make test runs them: the host-side ones first, then the guests,
each group of scenarios sharing its guest in a row."""
# names in __all__ count as used for pyflakes (style.python)
__all__ = ["host", "kunit_guest", "virtio_mem", "hinting", "baseline",
           "hyperv", "hoststub", "debian", "bench_smoke", "deploy"]
from . import host
from . import kunit_guest
from . import virtio_mem
from . import hinting
from . import baseline
from . import hyperv
from . import hoststub
from . import debian
from . import bench_smoke
from . import deploy
