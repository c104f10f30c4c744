"""sigmoid-qe as an OpusCleaner filter.

The filter definition :data:`FILTER_JSON` (``sigmoid_qe/opuscleaner/sigmoid_qe.json`` in the
installed package) runs OpusCleaner's ``opuscleaner-threshold`` around ``sigmoid-qe-filter
--score-only``, which reads ``source<TAB>target`` lines on stdin and prints one score per line
(``-inf`` for a pair whose target is in the wrong language, unless ``KEEP_OFF_TARGET``).
OpusCleaner finds filter definitions in the ``filters/`` folder it is started in, so::

    mkdir -p filters && ln -s "$(python -m sigmoid_qe.opuscleaner)" filters/
"""
from __future__ import annotations

from pathlib import Path

#: The filter definition to put in OpusCleaner's ``filters/`` folder.
FILTER_JSON = Path(__file__).with_name("sigmoid_qe.json")
