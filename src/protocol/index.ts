/**
 * The one protocol shared by the extension and the sidecar: message schemas (zod) and their inferred
 * types, error codes, the SidecarClient, the launcher, and the reader of a PNG's A1111 parameters. Reference: docs/SIDECAR.md.
 */
export * from './errors';
export * from './jobs';
export * from './params';
export * from './xyplot';
export * from './samplers';
export * from './messages';
export * from './client';
export * from './pinning';
export * from './launch';
export * from './pngParameters';
