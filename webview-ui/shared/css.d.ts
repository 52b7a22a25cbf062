// esbuild emits imported stylesheets beside the bundle (dist/webview/<name>.css).
declare module '*.css';
