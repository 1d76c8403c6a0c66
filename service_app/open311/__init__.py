"""Open311 GeoReport v2 gateway (DESIGN.md §13): partner systems such as the city's 12345 hotline file and
follow problems through the open standard, with API keys that admins issue."""
