"""The lookup use case: a query → its region → the area, decided once → the eligible units ranked by drive time,
as data with typed notes (:mod:`lookup.case`), worded at the edge (:mod:`lookup.localize`); and the loaded service
state it runs on (:mod:`lookup.service`)."""
