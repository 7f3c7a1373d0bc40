"""What writers work with: the writers' API and article drafts, the gap log and its signals."""
