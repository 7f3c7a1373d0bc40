"""The managers' reports: numbers computed in SQL, filters, tables, CSV export, the API."""
