export interface IngestConfig {
  maxBodyBytes: number;
  maxDecodedBytes: number;
}
