"""The pure core: models, states, errors and ports. Imports no framework or driver."""
