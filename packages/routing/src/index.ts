export { modifyHeaders, modifyPath, redirectLocation } from './actions.ts';
export { RoundRobin } from './balancer.ts';
export * from './decision.ts';
export { CompiledMatch } from './match.ts';
export { compareMatches, compareRoutes } from './precedence.ts';
export { QueryView, headerValue, type RouteRequest } from './request.ts';
export { portProtocol, type PortProtocol } from './protocols.ts';
export { Router, parseHost, type AddressTarget, type RouterOptions } from './router.ts';
export { RouteTable } from './table.ts';
