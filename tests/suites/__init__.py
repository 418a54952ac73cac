# SPDX-License-Identifier: GPL-2.0
"""Every test suite; importing this package registers their tests."""
from . import host_unit  # noqa: F401
from . import kunit_guest  # noqa: F401
from . import baseline  # noqa: F401
from . import hinting  # noqa: F401
from . import hinting_debian  # noqa: F401
from . import bench_smoke  # noqa: F401
from . import virtio_mem  # noqa: F401
from . import virtio_mem_debian  # noqa: F401
from . import hoststub  # noqa: F401
from . import hyperv  # noqa: F401
