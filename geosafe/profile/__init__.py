"""The contextual profile: the same young people across sources (``people``), how completely
flags are recorded (``flags``), places named in referrals (``places``) and the problem-profile
report (``report``).

Submodules are imported on use (``from geosafe.profile import people``); importing the
package itself loads nothing heavy (the store imports :mod:`geosafe.profile.tables`).
"""
