"""Small libraries every app uses: compiled queries, JSON, rendering user text, token buckets, the
API's shared pieces, and migration operations."""
