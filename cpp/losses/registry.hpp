// Every loss, registered once: the fits are compiled for each, and found by name.
#pragma once

#include "losses/squared_error.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Losses = TypeList<losses::SquaredError>;

}  // namespace fastdescent
