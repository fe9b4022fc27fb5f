"""Generated protobuf and gRPC code for the wire contracts (see proto/)."""
