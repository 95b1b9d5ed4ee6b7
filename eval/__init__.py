"""Measuring the grader against people: rubric quality and calibration against human scores.

``rubric_quality`` checks that every rubric tells its own question's answers apart. Calibration, one idea a
module: ``scale`` (a human scale and snapping to it), ``metrics`` (agreement measures), ``bootstrap`` (intervals
over whole questions), ``mapping`` (monotone mappings onto a scale, cross-validated by question), ``dataset``
(importing human-scored answers), ``calibrate`` (grading a data set and analysing it), ``plots`` and ``report``
(the JSON and HTML report). Nothing here imports ``service``: the service uses this package, never the reverse.
Submodules are imported directly (``from eval.calibrate import calibrate``) so that the command line does not pay
for scikit-learn and matplotlib when it does not calibrate.
"""
