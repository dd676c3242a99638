// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Local ERC-20 that keeps a fee (in basis points) of every transfer, the way some real tokens do. The
/// recipient's Transfer log shows what arrived, which is less than the sender sent: code that credits
/// the sent amount instead of the logged one over-credits here.
contract FeeOnTransferToken {
    string public constant name = "Fee Token (local)";
    string public constant symbol = "FEE";
    uint8 public constant decimals = 6;

    address public immutable owner;
    uint256 public immutable feeBps;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint256 feeBps_) {
        require(feeBps_ < 10000, "FEE: fee must be below 100%");
        owner = msg.sender;
        feeBps = feeBps_;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "FEE: insufficient allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "FEE: only owner can mint");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function _transfer(address from, address to, uint256 value) private {
        require(to != address(0), "FEE: transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "FEE: transfer amount exceeds balance");
        uint256 fee = (value * feeBps) / 10000;
        balanceOf[from] = balance - value;
        balanceOf[to] += value - fee;
        // The fee is burned: two logs in one transaction, and only the one to the recipient counts.
        totalSupply -= fee;
        emit Transfer(from, to, value - fee);
        if (fee > 0) emit Transfer(from, address(0), fee);
    }
}
