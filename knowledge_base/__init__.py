"""Knowledge base: articles, FAQ and their fuzzy search (built by the IVR and knowledge-base issue)."""
