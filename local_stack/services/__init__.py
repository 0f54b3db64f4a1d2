"""Plumbing every local process shares: process control, the state files, endpoints and connections.

Imports only `local_stack.errors`.
"""
