// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Local helper that pays several recipients of one token in a single transaction, so one transaction
/// carries several Transfer logs (each must be counted once). Works with tokens whose transferFrom
/// returns nothing, like USDT.
contract BatchSender {
    function send(address token, address[] calldata to, uint256[] calldata amounts) external {
        require(to.length == amounts.length, "BatchSender: length mismatch");
        for (uint256 i = 0; i < to.length; i++) {
            (bool ok, bytes memory ret) =
                token.call(abi.encodeWithSelector(0x23b872dd, msg.sender, to[i], amounts[i]));
            require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "BatchSender: transfer failed");
        }
    }
}
