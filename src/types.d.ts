// Types for the non-code files the service imports: SQL migrations as text, and Swagger UI's assets
// as file paths, so the compiled binary carries them and tsc knows their shape.
declare module "*.sql" { const text: string; export default text; }
// Swagger UI's files, imported `with { type: "file" }`: Bun gives their path (inside a compiled
// binary, a path in its embedded file system), read with Bun.file.
declare module "swagger-ui-dist/swagger-ui.css" { const path: string; export default path; }
declare module "swagger-ui-dist/swagger-ui-bundle.js" { const path: string; export default path; }
declare module "swagger-ui-dist/favicon-32x32.png" { const path: string; export default path; }
