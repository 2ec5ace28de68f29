"""A VDO.Ninja room as a guest source: every member who publishes becomes a guest."""
