"""The bundled demo call and small manifests."""
