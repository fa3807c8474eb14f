"""Developer tooling (not deployed): template reading, the embedded AWS, demo data,
API Gateway event building, the local server, benchmarks and client management."""
