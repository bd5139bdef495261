export * from './diagnostics.ts';
export * from './ir.ts';
export * from './load.ts';
export { hostnameWithin, intersectHostnames } from './hostnames.ts';
export { compileRegex, regexLiteral, regexTest, requiredLiteral } from './regex.ts';
export { CLUSTER_DOMAIN } from './translate.ts';
