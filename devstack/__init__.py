"""Dev and ops tooling, not part of the runtime wheel: the no-Docker local stack and its processes."""
