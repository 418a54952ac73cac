# SPDX-License-Identifier: GPL-2.0
"""Every test suite; importing this package registers their tests, in the
order make test runs them: the host-side ones first, then the guests,
each group of scenarios sharing its guest in a row."""
from . import host  # noqa: F401
from . import kunit_guest  # noqa: F401
from . import virtio_mem  # noqa: F401
from . import hinting  # noqa: F401
from . import baseline  # noqa: F401
from . import hyperv  # noqa: F401
from . import hoststub  # noqa: F401
from . import debian  # noqa: F401
from . import bench_smoke  # noqa: F401
