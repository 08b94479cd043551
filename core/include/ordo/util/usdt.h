// The semaphores of ordo's USDT probes (nonzero while a tracer is attached):
// ordo:site (an engine registered an ordering point: id, access, name),
// ordo:point (a step at one: kind, object, arg) and ordo:request (an engine
// API request: op, file, offset, length). `ordo capture --usdt BINARY`
// attaches to them. Defined once, in ordo_core.
#pragma once

extern "C" {
extern volatile unsigned short ordo_site_semaphore;
extern volatile unsigned short ordo_point_semaphore;
extern volatile unsigned short ordo_request_semaphore;
}
