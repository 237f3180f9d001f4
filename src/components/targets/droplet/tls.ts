/** The Droplet's TLS bootstrap now lives with the Docker realizer, shared with target docker on a public host. */
export * from "../docker/tls";
