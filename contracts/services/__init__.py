"""Writes of the contract domain.

Views, the API and commands parse and authorise, then call these.
"""
