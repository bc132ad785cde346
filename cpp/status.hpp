// How a native call ended: the values of python/fastdescent/_status.py.
#pragma once

namespace fastdescent {

enum Status : int {
    kRanAll = 0,
    kConverged = 1,
    kDiverged = 2,
    kInterrupted = 3,
    kGradientSmall = 4,
    kStalled = 5,  // internal to an epoch's end: the rate policy turns it into kConverged or a smaller rate
};

}  // namespace fastdescent
