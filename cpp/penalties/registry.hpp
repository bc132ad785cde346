// Every penalty, registered once.
#pragma once

#include "penalties/elastic_net.hpp"
#include "penalties/l2.hpp"
#include "rules/registry.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Penalties = TypeList<penalties::L2, penalties::ElasticNet>;

// The rules each penalty's fused fits run with (the Python unit's RULES): elastic net's L1 share
// accrues the step's one rate, which only SGD has.
using FitPenalties = TypeList<PenaltyWithRules<penalties::L2, FitRules>,
                              PenaltyWithRules<penalties::ElasticNet, TypeList<rules::Sgd>>>;

}  // namespace fastdescent
