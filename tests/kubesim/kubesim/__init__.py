"""kubesim: a Kubernetes API server simulator that real clients cannot tell from a cluster."""
