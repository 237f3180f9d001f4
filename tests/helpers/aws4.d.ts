/** The part of aws4 (npm, no bundled types) the tests use: SigV4 signing of a request description. */
declare module "aws4" {
  export interface Aws4Request {
    host?: string;
    method?: string;
    path?: string;
    service?: string;
    region?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Sign in the query string (a presigned URL) instead of the Authorization header. */
    signQuery?: boolean;
  }
  export interface Aws4Credentials {
    accessKeyId: string;
    secretAccessKey: string;
  }
  /** Adds Authorization, X-Amz-Date and X-Amz-Content-Sha256 to `request.headers` (unless given), or with `signQuery` the X-Amz-* parameters to `path`, and returns it. */
  export function sign<T extends Aws4Request>(request: T, credentials: Aws4Credentials): T & { headers: Record<string, string> };
}
