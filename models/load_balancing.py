"""The Elastic Load Balancing attribute keys vpc-mirror sets.

Kept apart from steps.load_balancer (which reads AWS) so that what only reads
a saved plan or state, such as steps.cost at start-up, need not import it.
"""

from __future__ import annotations

#: The load balancer's attribute that spreads traffic over targets in every Availability Zone.
CROSS_ZONE = "load_balancing.cross_zone.enabled"
#: The target group's attributes that keep each flow on one target.
STICKINESS = "stickiness.enabled"
STICKINESS_TYPE = "stickiness.type"
