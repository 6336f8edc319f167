"""Actors: a 3-actor pipeline with tasks before and after, and two actors merging into one."""
