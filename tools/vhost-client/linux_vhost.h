// <linux/vhost.h> for C++: it pulls in <linux/virtio_ring.h>, whose inline
// functions are not valid C++ and of which it uses nothing (virtio-ring
// layout for this program is virtio/vring.h). Include this instead.
#pragma once

#ifndef _LINUX_VIRTIO_RING_H
#define _LINUX_VIRTIO_RING_H
#endif
#include <linux/vhost.h>
#include <linux/vhost_types.h>
