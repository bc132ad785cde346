// Every penalty, registered once.
#pragma once

#include "penalties/l2.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Penalties = TypeList<penalties::L2>;

}  // namespace fastdescent
