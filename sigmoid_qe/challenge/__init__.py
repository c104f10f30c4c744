"""Challenge sets for QE, built from parallel text alone: one meaning-changing error put into
a human translation (:mod:`.perturb`, per-language rules in :mod:`.wordlists`), and the
comparisons QE is judged on (:mod:`.sets`): does a score prefer the original to its
perturbed copy (error detection), and every valid translation to it (alternative tolerance)?
:mod:`.span_calibration` fits span thresholds on such synthetic errors.
"""
