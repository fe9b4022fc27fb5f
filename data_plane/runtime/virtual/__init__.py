"""Virtual servers at run time: compiled members, name resolution, member sessions, SSE events."""
