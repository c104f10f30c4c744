"""``python -m sigmoid_qe.opuscleaner``: the path of the OpusCleaner filter definition."""
from . import FILTER_JSON

print(FILTER_JSON)
