/*
 * Asset transfer, contract style: the package exports its contracts, which live in lib/.
 * `fn` calls AssetTransfer (the first); `AssetQueries:fn` calls the other.
 */
'use strict';

const AssetTransfer = require('./lib/asset-transfer');
const AssetQueries = require('./lib/asset-queries');

module.exports.AssetTransfer = AssetTransfer;
module.exports.AssetQueries = AssetQueries;
module.exports.contracts = [AssetTransfer, AssetQueries];
