"""What protects young people: safe places (youth clubs, detached youth work spots, safe
havens, staffed stations) with their opening hours, and the log of interventions with the
evaluation of change after each (difference in differences against a comparison area).

Modules: :mod:`~geosafe.protect.safe_places` (import, opening hours, passes along journeys),
:mod:`~geosafe.protect.interventions` (the log, in the store's database),
:mod:`~geosafe.protect.evaluate` (monthly counts, comparison areas, displacement),
:mod:`~geosafe.protect.did` (the estimator),
:mod:`~geosafe.protect.public_evaluation` (the evaluation for schools and neighbourhood teams,
from published counts only), :mod:`~geosafe.protect.sql` (dialect-light SQL on SQLite or
PostgreSQL).
"""
