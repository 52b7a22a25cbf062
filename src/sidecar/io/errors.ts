/**
 * A problem with a model folder or file the user pointed at: the message always starts with the path, so
 * the person can find and fix it. The CLI turns it into a UserError; the sidecar into a typed job error.
 */
export class ModelFolderError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ModelFolderError';
  }
}
