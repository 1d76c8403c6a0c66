"""The zone's organisation: parks, industry chains, departments, categories, enterprises, links."""
