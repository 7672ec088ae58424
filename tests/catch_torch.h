// Include this instead of <catch.hpp>: torch's headers bring glog, whose CHECK macro would
// otherwise silently replace Catch's CHECK (a failing CHECK would then abort the whole run).
#pragma once

#include <torch/torch.h>
#undef CHECK
#include <catch.hpp>
