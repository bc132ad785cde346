// Every loss, registered once: the fits are compiled for each, and found by name.
#pragma once

#include "losses/epsilon_insensitive.hpp"
#include "losses/huber.hpp"
#include "losses/squared_epsilon_insensitive.hpp"
#include "losses/squared_error.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Losses = TypeList<losses::SquaredError, losses::Huber, losses::EpsilonInsensitive,
                        losses::SquaredEpsilonInsensitive>;

}  // namespace fastdescent
