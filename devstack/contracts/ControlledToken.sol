// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Local stand-in for a centrally controlled stablecoin (USDC-like): the issuer can pause every transfer
/// and blacklist addresses, whose transfers then revert. Tests use it to check that payouts stop cleanly
/// (and flag the deal) instead of retrying into a frozen token.
contract ControlledToken {
    string public constant name = "Controlled USD (local)";
    string public constant symbol = "CUSD";
    uint8 public constant decimals = 6;

    address public immutable owner;
    bool public paused;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public isBlacklisted;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Paused(bool paused);
    event Blacklisted(address indexed account, bool blacklisted);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "CUSD: only owner");
        _;
    }

    function setPaused(bool value) external onlyOwner {
        paused = value;
        emit Paused(value);
    }

    function setBlacklisted(address account, bool value) external onlyOwner {
        isBlacklisted[account] = value;
        emit Blacklisted(account, value);
    }

    function mint(address to, uint256 value) external onlyOwner {
        require(to != address(0), "CUSD: mint to the zero address");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "CUSD: insufficient allowance");
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

    function _transfer(address from, address to, uint256 value) private {
        require(!paused, "CUSD: paused");
        require(!isBlacklisted[from] && !isBlacklisted[to], "CUSD: blacklisted");
        require(to != address(0), "CUSD: transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "CUSD: transfer amount exceeds balance");
        balanceOf[from] = balance - value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
